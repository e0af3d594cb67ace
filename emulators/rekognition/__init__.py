"""A local Amazon Rekognition (face collections) server for development and tests.

Speaks AWS JSON 1.1 so an unmodified boto3 client with `endpoint_url` works. Laid out like moto:
`engine` (dlib face detection and descriptors, no Rekognition knowledge), `similarity`
(descriptor distance to Rekognition's 0-100 scale), `models` (collections, faces, users and
Rekognition's rules, no HTTP), `exceptions` (one class per AWS error), `validation` (the service
model's constraints boto3 does not check), `responses` (wire <-> backend), `server` (HTTP).
"""
