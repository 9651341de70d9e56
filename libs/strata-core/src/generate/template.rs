//! Chat templates: the Jinja template a GGUF file carries (`tokenizer.chat_template`), rendered
//! with minijinja the way transformers' `apply_chat_template` does (`messages`,
//! `add_generation_prompt`, `bos_token`, `eos_token`, Python string methods).
//!
//! The template comes from an uploaded file, so it is untrusted: rendering runs on a fuel budget
//! and a recursion limit, and its output is bounded, so a hostile template fails with an error
//! instead of spinning or filling memory.

use minijinja::{Environment, ErrorKind, context};
use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

/// Instructions a template may run per rendering.
const FUEL: u64 = 5_000_000;
/// Longest rendered prompt, in bytes.
const MAX_RENDERED: usize = 4 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// Compiles `source`; a template that does not parse is refused at import.
    pub fn new(source: &str, bos: &str, eos: &str) -> Result<Self> {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        // transformers templates signal bad conversations through this function.
        env.add_function(
            "raise_exception",
            |msg: String| -> std::result::Result<String, minijinja::Error> {
                Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_template_owned("chat", source.to_owned())
            .map_err(|e| CoreError::Config(format!("GGUF chat template: {e}")))?;
        Ok(ChatTemplate {
            env,
            bos: bos.into(),
            eos: eos.into(),
        })
    }

    /// The prompt for `messages`, ending where the assistant's reply starts.
    pub fn render(&self, messages: &[Message]) -> Result<String> {
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| CoreError::Config(format!("chat template: {e}")))?;
        let text = template
            .render(context! {
                messages => minijinja::value::Serde(messages),
                add_generation_prompt => true,
                bos_token => self.bos.as_str(),
                eos_token => self.eos.as_str(),
            })
            .map_err(|e| CoreError::Schema(format!("chat template: {e}")))?;
        if text.len() > MAX_RENDERED {
            return Err(CoreError::Schema(format!(
                "the rendered chat prompt is over {MAX_RENDERED} bytes"
            )));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: &str) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }

    #[test]
    fn renders_like_apply_chat_template_and_refuses_hostile_templates() {
        let t = ChatTemplate::new(
            "{% for m in messages %}<|{{ m.role }}|>{{ m.content.strip() }}\n{% endfor %}\
             {% if add_generation_prompt %}<|assistant|>{% endif %}",
            "<s>",
            "</s>",
        )
        .expect("template");
        assert_eq!(
            t.render(&[msg("user", "  hi ")]).expect("render"),
            "<|user|>hi\n<|assistant|>"
        );
        let raising = ChatTemplate::new(
            "{% if messages[0].role != 'user' %}{{ raise_exception('user first') }}{% endif %}",
            "",
            "",
        )
        .expect("template");
        let err = raising.render(&[msg("assistant", "x")]).unwrap_err();
        assert!(err.to_string().contains("user first"), "{err}");
        // Endless work runs out of fuel instead of hanging the service.
        let spin = ChatTemplate::new(
            "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
            "",
            "",
        )
        .expect("template");
        assert!(spin.render(&[]).is_err());
        assert!(ChatTemplate::new("{% for %}", "", "").is_err());
    }
}
