"""Stage 2, rendering: blueprints and overrides made into each nation's Build, no side effects."""
