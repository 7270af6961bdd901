"""Installs the gan_tf package."""

from setuptools import find_packages, setup

setup(
    name="gan_tf",
    version="0.2.0",
    description="Generative Adversarial Networks in TensorFlow 2 / Keras 3: "
    "models, losses, train loop with exact resume, data and evaluation.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    classifiers=[
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
    packages=find_packages(include=["gan_tf", "gan_tf.*"]),
    package_data={
        "gan_tf.eval": ["weights/*.weights.h5", "weights/*.json"],
        "gan_tf.cli": ["help.json"],
    },
    entry_points={"console_scripts": ["gan-tf=gan_tf.cli:main"]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.0",
        "tensorflow-datasets>=4.9",
        "tensorboard>=2.16",
        "importlib_resources",  # tfds needs it to download
        "matplotlib>=3.7",
        "imageio>=2.28",
        "absl-py>=1.4",
        "numpy>=1.24",
        "scipy>=1.10",
        "threadpoolctl>=3.1",  # FID's eigendecompositions on one BLAS thread
    ],
    extras_require={
        "dev": [
            "pytest>=7",
            "pytest-xdist>=3",
            "ruff>=0.5",
            "mlxtend>=0.23",
            "nbclient>=0.7",
            "nbformat>=5.7",
            "ipykernel>=6",
            "lmdb>=1.4",
        ],
        "lsun": ["lmdb>=1.4"],  # dataset=lsun:CATEGORY reads LSUN's LMDB export
    },
)
