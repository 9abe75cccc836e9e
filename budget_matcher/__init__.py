"""Runtime package shipped in deploy.zip: contract, text normalisation, features, config."""

SERVICE_NAME = "budget-expense-matcher"
SERVICE_VERSION = "0.1.0"
