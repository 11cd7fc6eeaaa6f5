"""Stage 1, the spec: nations.yaml read with its lines, validated, resolved into a Network."""
