"""The typed catalogue of AMI events and actions (hand-written support and generated classes)."""
