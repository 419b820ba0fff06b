"""prodready's reusable Pulumi components and the pure helpers they share."""

# The version of the components as a package (pyproject.toml reads it); raise it with any change of an
# argument type or of a type token (a new token replaces deployed resources unless aliased).
__version__ = "0.1.0"
