"""The AWS infrastructure provider: CAPA's kinds reconciled with boto3 (VPC, subnets, gateways, route tables,
security groups, the API server load balancer, EC2 instances with their bootstrap data in Secrets Manager or SSM)."""
