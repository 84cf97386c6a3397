"""Analyses over the dbt marts' inputs: key drivers (``drivers``), significant metric drops (``drops``)
and the promoter - detractor outcome differences adjusted for tier and tenure (``outcomes``).

Pure Python (numpy, scipy): the Dagster assets in ``assets/analytics.py`` read the dbt inputs, call these and
write the results (schema ``analytics``, ``cem_pipeline.schema``).
"""
