"""Demo content for Verity: a fictional B2B SaaS company, Northwind Cloud.

The content lives in data files next to this module (company.yaml, facts.yaml and
cards/*.md); loader.py writes it through the same services and import path as real data."""
