"""The office's web console (`xlsx-workflow serve`): the whole cycle from a local browser page.

Pages call the same library functions as the CLI; see `app` for the layout of the package."""
