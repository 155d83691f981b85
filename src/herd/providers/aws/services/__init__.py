"""Pure boto3 services, one per kind of AWS resource. Each finds what exists by the cluster's tags before it
creates anything, and takes its clients and the cluster's name and tags from a `AWSScope`."""
