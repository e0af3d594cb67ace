"""The `facetag` operator command and the person actions it runs.

Operator code only: it runs with the operator's credentials on their machine and is never part
of the Lambda package (which holds app.py and chalicelib/ alone).
"""
