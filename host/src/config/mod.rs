//! ImageSetConfiguration parsing and validation.
