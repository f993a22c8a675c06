"""Predictive models on the customer summary: probabilistic CLV (`fidelis.models.clv`) and churn
risk with reasons (`fidelis.models.churn`). Models take per-customer numpy/pandas frames and hand
back arrays; the services in this package read the warehouse and write scores back as tables."""
