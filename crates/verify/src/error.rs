//! One error type for every verifier: it names the failing check and the field, and maps to the
//! documented exit codes (see the README).

use crate::check::Check;
use serde::Serialize;

/// Which kind of failure, and so which exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Bad invocation or input that is not evidence at all (exit 1).
    Usage,
    /// Evidence invalid: format, signature, chain, binding (exit 2).
    Evidence,
    /// Collateral missing or unusable (exit 3).
    Collateral,
    /// Appraisal against policy failed (exit 4).
    Appraisal,
}

impl Category {
    /// The process exit code documented for this category.
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            Category::Usage => 1,
            Category::Evidence => 2,
            Category::Collateral => 3,
            Category::Appraisal => 4,
        }
    }
}

/// A verification or parsing failure: `check` names the step (e.g. `snp.signature`), `detail`
/// names the field and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{check}: {detail}")]
pub struct Error {
    /// Which kind of failure (and so the exit code).
    pub category: Category,
    /// The check that failed.
    pub check: Check,
    /// The field and what was wrong with it.
    pub detail: String,
}

impl Error {
    pub(crate) fn new(category: Category, check: Check, detail: impl Into<String>) -> Self {
        Error { category, check, detail: detail.into() }
    }
    /// A [`Category::Usage`] failure of `check`.
    pub fn usage(check: Check, detail: impl Into<String>) -> Self {
        Self::new(Category::Usage, check, detail)
    }
    /// A [`Category::Evidence`] failure of `check`.
    pub fn evidence(check: Check, detail: impl Into<String>) -> Self {
        Self::new(Category::Evidence, check, detail)
    }
    /// A [`Category::Collateral`] failure of `check`.
    pub fn collateral(check: Check, detail: impl Into<String>) -> Self {
        Self::new(Category::Collateral, check, detail)
    }
    /// A [`Category::Appraisal`] failure of `check`.
    pub fn appraisal(check: Check, detail: impl Into<String>) -> Self {
        Self::new(Category::Appraisal, check, detail)
    }
    /// The process exit code documented for the error's category (1 to 4).
    pub fn exit_code(&self) -> i32 {
        self.category.exit_code()
    }
}

/// A result whose error is an [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
