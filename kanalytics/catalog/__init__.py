"""The query catalog: SQL files with validated headers, the runner that evaluates them, and findings."""
