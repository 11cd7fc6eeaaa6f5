"""Where builds are published: the local filesystem (default) or S3."""
