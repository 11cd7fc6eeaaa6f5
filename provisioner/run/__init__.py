"""Stage 3, the run: which nations changed, building them in parallel, publishing, state."""
