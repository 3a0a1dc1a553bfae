//! Closed vocabularies stored and exchanged as snake_case strings.
//!
//! Release statuses, roles, stores, deal terms… are each a small fixed set of words that the
//! database stores as text, GraphQL exposes as enums and partner files spell in their own case.
//! One macro gives every such enum the same surface (`as_str`, `FromStr`, `Display`, `ALL`,
//! serde as the string), so a word is spelled in exactly one place and a new variant cannot be
//! forgotten in one of the conversions.

use thiserror::Error;

/// A string that is not one of an enum's words.
///
/// The message lists the accepted words so that it can be shown to a user as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {kind} \"{input}\", expected one of: {expected}")]
pub struct ParseEnumError {
    /// What was being parsed, e.g. `"release status"`.
    pub kind: &'static str,
    /// The rejected input, as given.
    pub input: String,
    /// The accepted words, comma-separated.
    pub expected: String,
}

/// Declares a string-backed enum: variants with their snake_case words, plus `ALL`, `as_str`,
/// `Display`, `FromStr` (trimmed, ASCII case-insensitive, so GraphQL's `TAKEN_DOWN` parses too)
/// and serde as the word.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $kind:literal {
            $(
                $(#[$vmeta:meta])*
                $variant:ident => $word:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The snake_case word stored in the database and used in APIs.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::enums::ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let word = s.trim().to_ascii_lowercase();
                match word.as_str() {
                    $($word => Ok($name::$variant),)+
                    _ => Err($crate::enums::ParseEnumError {
                        kind: $kind,
                        input: s.to_owned(),
                        expected: [$($word),+].join(", "),
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let word = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                word.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use string_enum;
