"""Analyses over the dbt marts' inputs: key drivers (``drivers``) and significant metric drops (``drops``).

Pure Python (numpy, scipy): the Dagster assets in ``assets/analytics.py`` read the dbt inputs, call these and
write the results (schema ``analytics``, ``cem_pipeline.schema``).
"""
