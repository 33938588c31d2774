"""xlsx-workflow: run a scored annual assessment (考核) of units through Excel workbooks."""
__version__ = "0.1.0"
