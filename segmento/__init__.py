"""segmento: a segment rule engine for customer data platforms.

``import segmento`` loads only the engine core. Backends (SQL stores, Spark,
Elasticsearch, Kafka) and the web app are imported by the modules that use them.
"""

__version__ = "0.1.0"
