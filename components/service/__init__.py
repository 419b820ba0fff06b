"""The service itself: HTTP API, Lambda function and DynamoDB tables, and the access to them."""
