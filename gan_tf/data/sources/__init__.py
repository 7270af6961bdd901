"""One module per kind of dataset; :mod:`gan_tf.data.registry` lists them.

Adding a dataset: a module here that makes a :class:`gan_tf.data.base.Source` (for a
fixed-name dataset in a raw format, a
:class:`~gan_tf.data.sources.known.KnownSource` with the places its files may be),
and its line in :data:`gan_tf.data.registry.SOURCES`."""
