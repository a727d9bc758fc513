"""The local cloud: template.yaml served on loopback, with DynamoDB Local for the tables, moto for the rest of
AWS, and fakes of WeChat. Never deployed."""
