"""edgeseg's central ML pipeline: trains the intent model and writes the bundle in `model/`."""
