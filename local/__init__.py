"""The local cloud: template.yaml served on loopback with moto as AWS and fakes of WeChat. Never deployed."""
