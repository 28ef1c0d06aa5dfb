/* ---
id: verb_past
parameters: [verb]
description: >-
  A request verb in the past tense, for summaries: created, replaced (update), patched, deleted, deleted all
  (deletecollection); any other verb as it is.
--- */
CASE verb
    WHEN 'create' THEN 'created'
    WHEN 'update' THEN 'replaced'
    WHEN 'patch' THEN 'patched'
    WHEN 'delete' THEN 'deleted'
    WHEN 'deletecollection' THEN 'deleted all'
    ELSE verb
END
