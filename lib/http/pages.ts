/** Small self-contained HTML pages for the verification link (no scripts, no external resources). */

export const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)} · Portrait</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#222;line-height:1.5}
button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#2f6fed;color:#fff;cursor:pointer}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/** The page behind the mailed link: only its button (a POST) uses the token, so link scanners cannot burn it. */
/**
 * The password field is what makes the confirmer the owner: the account gets the password typed here (and the
 * profile of the sign-up it belongs to), never that of someone else who signed up with this address.
 */
export function confirmEmailPage(actionUrl: string, token: string, problem?: string): string {
  const error = problem ? `<p role="alert">Password: ${escapeHtml(problem)}</p>\n` : '';
  return page(
    'Confirm your email address',
    `<p>Enter the password you chose when you signed up, then press the button to confirm your email address and finish creating your Portrait account.</p>
${error}<form method="post" action="${escapeHtml(actionUrl)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required minlength="8" maxlength="128">
<button type="submit">Confirm email address</button>
</form>`,
  );
}

/** A form that asks POST /auth/resend-verification for a new mail (it answers with resendRequestedPage). */
function resendForm(actionUrl?: string): string {
  if (!actionUrl) return '';
  return `<form method="post" action="${escapeHtml(actionUrl)}">
<p><label>Your email address<br><input type="email" name="email" required autocomplete="email" style="font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box"></label></p>
<button type="submit">Send a new confirmation mail</button>
</form>`;
}

export function incompleteLinkPage(resendUrl?: string): string {
  return page(
    'This link is incomplete',
    `<p>Open the link from the mail exactly as it was sent (some mail programs cut long links), or ask for a new mail.</p>${resendForm(resendUrl)}`,
  );
}

export function resendRequestedPage(): string {
  return page(
    'Check your inbox',
    '<p>If this address has an account that is not confirmed yet, a new confirmation mail is on its way (at most one a minute). Open the link in it.</p>',
  );
}

/** `signInUrl`: where the web app signs in (the API serves it at PUBLIC_BASE_URL/). */
export function emailConfirmedPage(signInUrl?: string): string {
  const link = signInUrl ? ` <a href="${escapeHtml(signInUrl)}">Sign in</a>` : '';
  return page('Email address confirmed', `<p>Thanks! Your email address is confirmed. You can now log in.${link}</p>`);
}

export function invalidLinkPage(resendUrl?: string): string {
  return page(
    'This link cannot be used',
    `<p>The confirmation link is invalid, was already used, or has expired. If your address is not confirmed yet, ask for a new confirmation mail.</p>${resendForm(resendUrl)}`,
  );
}

/** The page of a mailed reset link: a new-password form; only its POST uses the token. */
export function resetPasswordPage(actionUrl: string, token: string): string {
  return page(
    'Choose a new password',
    `<p>Enter the new password for your Portrait account (8 to 128 characters).</p>
<form method="post" action="${escapeHtml(actionUrl)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<p><label for="password">New password</label><br>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="128" required></p>
<button type="submit">Set new password</button>
</form>`,
  );
}

export function passwordChangedPage(signInUrl: string): string {
  return page('Password changed', `<p>Your new password is set and every session was signed out. <a href="${escapeHtml(signInUrl)}">Sign in</a></p>`);
}

export function invalidResetLinkPage(forgotUrl: string): string {
  return page(
    'This link cannot be used',
    `<p>The password reset link is invalid, was already used, or has expired. <a href="${escapeHtml(forgotUrl)}">Ask for a new one</a>.</p>`,
  );
}

export function badPasswordPage(message: string, actionUrl: string, token: string): string {
  return resetPasswordPage(actionUrl, token).replace('<form', `<p role="alert"><strong>${escapeHtml(message)}</strong></p><form`);
}

/** The page of a mailed email-change link: a confirm button; only its POST uses the token. */
export function confirmEmailChangePage(actionUrl: string, token: string): string {
  return page(
    'Confirm your new email address',
    `<p>Press the button to make this address the one your Portrait account signs in with.</p>
<form method="post" action="${escapeHtml(actionUrl)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Confirm new address</button>
</form>`,
  );
}

export function emailChangedPage(signInUrl: string): string {
  return page('Email address changed', `<p>Your account now signs in with this address. <a href="${escapeHtml(signInUrl)}">Sign in</a></p>`);
}

export function invalidEmailChangeLinkPage(): string {
  return page('This link cannot be used', '<p>The email change link is invalid, was already used, or has expired. Ask for the change again from your profile.</p>');
}

/**
 * Headers of the mailed-link pages: no scripts, inline styles only, and the form may post to
 * PUBLIC_BASE_URL, which may be another origin than the one serving the page.
 */
export function linkPageHeaders(publicBaseUrl: string): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${new URL(publicBaseUrl).origin}; frame-ancestors 'none'`,
  };
}
