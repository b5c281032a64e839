"""The AMI server simulator behind :mod:`ami_client.testing` (never imports the client)."""
