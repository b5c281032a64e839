"""Private implementation modules of ami_client. Import public names from ``ami_client``."""
