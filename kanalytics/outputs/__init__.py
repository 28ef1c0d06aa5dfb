"""What leaves the archive: alerts to on-call sinks, and events and findings in the formats SIEMs and lakes read.

`alerts/`: findings of committed batches become deduplicated alerts in an outbox under the archive's `_state/`,
delivered at least once to webhook (Falcosidekick-shaped), Alertmanager and Slack sinks. `formats/`: one Event or
Finding as ECS, Splunk HEC or OCSF. `export`: those formats streamed from the archive; `hec`: delivery to a
Splunk HTTP Event Collector.
"""
