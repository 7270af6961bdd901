"""``python -m gan_tf.cli COMMAND [flags]``: the same as ``gan-tf COMMAND [flags]``."""

from gan_tf.cli import main

if __name__ == "__main__":
    main()
