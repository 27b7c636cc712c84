-- An event type keeps its schemas and examples by version: {"1": {"schema": …, "example": …}, …}.
-- The single schema and example become version "1".
ALTER TABLE event_types ADD COLUMN versions TEXT NOT NULL DEFAULT '{}';
ALTER TABLE event_types ADD COLUMN deprecated BOOLEAN NOT NULL DEFAULT false;
UPDATE event_types
   SET versions = json_build_object(
           '1', json_build_object('schema', schema::json, 'example', example::json))::text
 WHERE schema IS NOT NULL OR example IS NOT NULL;
ALTER TABLE event_types DROP COLUMN schema;
ALTER TABLE event_types DROP COLUMN example;
