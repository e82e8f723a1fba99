"""The demo: the whole loop on generated churn data (``python -m mainsail.demo``)."""
