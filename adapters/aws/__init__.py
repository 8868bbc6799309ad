"""The AWS adapter (DESIGN §4): one module per AWS service, boto3 imported lazily.

``adapters.registry`` maps kind ``aws`` to ``adapters.aws.provider:AwsProvider``.
"""
