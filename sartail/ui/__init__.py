"""What notebooks use: parameters, the notebook facade (:mod:`.notebook`) and the widgets (:mod:`.widgets`)."""
