"""The home page, which gathers what each role sees first from several features."""
