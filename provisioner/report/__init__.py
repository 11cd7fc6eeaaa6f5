"""Stage 4, reports: the console recap, JSON, JUnit and HTML views of runs and of the network."""
