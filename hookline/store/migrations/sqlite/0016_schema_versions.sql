-- An event type keeps its schemas and examples by version: {"1": {"schema": …, "example": …}, …}.
-- The single schema and example become version "1".
ALTER TABLE event_types ADD COLUMN versions TEXT NOT NULL DEFAULT '{}';
ALTER TABLE event_types ADD COLUMN deprecated INTEGER NOT NULL DEFAULT 0;
UPDATE event_types
   SET versions = json_object('1', json_object('schema', json(schema), 'example', json(example)))
 WHERE schema IS NOT NULL OR example IS NOT NULL;
ALTER TABLE event_types DROP COLUMN schema;
ALTER TABLE event_types DROP COLUMN example;
