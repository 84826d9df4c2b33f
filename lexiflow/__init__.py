"""The ``lexiflow`` command: the composition root above the service, pipelines and models layers."""
