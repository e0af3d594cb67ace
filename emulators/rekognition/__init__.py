"""A local Amazon Rekognition (face collections) server for development and tests.

Speaks AWS JSON 1.1 so an unmodified boto3 client with `endpoint_url` works. Laid out like moto:
`engine` (dlib face detection and descriptors, no Rekognition knowledge), `similarity`
(descriptor distance to Rekognition's 0-100 scale), `analysis` (a detected face as Rekognition
reports it), `images` (the request's image and its faces), `records` (stored faces and
collections, and what searches see of them), `store` (state, lock, tokens, clock), `models`
(collections, faces and face search, no HTTP), `users` (user vectors), `exceptions` (one class
per AWS error), `serialization` (JSON types of the input), `validation` (the service model's
constraints boto3 does not check), `responses` (wire <-> backend), `server` (HTTP).
"""
