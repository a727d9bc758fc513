"""Data access: pynamodb models and repository functions, the only code that talks to DynamoDB."""
