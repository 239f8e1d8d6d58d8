//! Configuration: the YAML file, validated into [`Config`].

mod model;

pub use model::*;
