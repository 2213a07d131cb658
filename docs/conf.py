"""Sphinx configuration: the Markdown guides (MyST) and the API reference from the docstrings."""

project = "cevns"
author = "cevns developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
napoleon_numpy_docstring = True
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]
html_theme = "alabaster"
