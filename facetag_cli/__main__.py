"""`python -m facetag_cli`: the same command as the installed `facetag` script."""

from facetag_cli.cli import main

main()
