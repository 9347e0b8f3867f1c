/**
 * The test IdP's HTML: plain, predictable pages a scripted browser can read. Each page names
 * itself in `<body data-page="…">` and an error in `<p data-error="…">`; forms keep the field
 * names oidc-provider or the interaction routes expect.
 */

/** The `data-page` of each page. */
export const Page = {
  DeviceInput: 'device-input',
  DeviceConfirm: 'device-confirm',
  DeviceSuccess: 'device-success',
  Login: 'login',
  Consent: 'consent',
  Error: 'error',
} as const;
export type Page = (typeof Page)[keyof typeof Page];

/** The `data-error` the code input page shows after oidc-provider rejected the code or the user said no. */
export const DeviceError = {
  NoCode: 'no-code',
  NotFound: 'not-found',
  Expired: 'expired',
  AlreadyUsed: 'already-used',
  /** The user denied consent or aborted at the confirmation page. */
  Aborted: 'aborted',
  Other: 'error',
} as const;
export type DeviceError = (typeof DeviceError)[keyof typeof DeviceError];

/** The consent form's submit buttons: `decision=approve` or `decision=deny`. */
export const Decision = { Approve: 'approve', Deny: 'deny' } as const;
export type Decision = (typeof Decision)[keyof typeof Decision];

/** Escapes text for an HTML element or a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(name: Page, title: string, body: string): string {
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body data-page="${name}">
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

function errorLine(code: string, text: string): string {
  return `<p data-error="${escapeHtml(code)}">${escapeHtml(text)}</p>`;
}

const DEVICE_ERROR_TEXT: Record<DeviceError, string> = {
  [DeviceError.NoCode]: 'Enter the code shown on your device.',
  [DeviceError.NotFound]: 'That code is not valid.',
  [DeviceError.Expired]: 'That code has expired.',
  [DeviceError.AlreadyUsed]: 'That code has already been used.',
  [DeviceError.Aborted]: 'The sign-in request was denied.',
  [DeviceError.Other]: 'The request could not be processed.',
};

/** Maps the error oidc-provider re-renders the input page with (by class name) to a `data-error`. */
export function deviceErrorCode(name: string): DeviceError {
  switch (name) {
    case 'NoCodeError':
      return DeviceError.NoCode;
    case 'NotFoundError':
      return DeviceError.NotFound;
    case 'ExpiredError':
      return DeviceError.Expired;
    case 'AlreadyUsedError':
      return DeviceError.AlreadyUsed;
    case 'AbortedError':
      return DeviceError.Aborted;
    default:
      return DeviceError.Other;
  }
}

/** The verification page: oidc-provider's `op.deviceInputForm` (hidden xsrf, text `user_code`) and a submit button. */
export function deviceInputPage(form: string, error: DeviceError | undefined): string {
  const message = error
    ? errorLine(error, DEVICE_ERROR_TEXT[error])
    : '<p>Enter the code shown on your device.</p>';
  return page(
    Page.DeviceInput,
    'Device sign-in',
    `${message}
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

/** Asks to confirm the code: oidc-provider's `op.deviceConfirmForm` (xsrf, user_code, confirm=yes), or abort. */
export function deviceConfirmPage(form: string, userCode: string, client: string): string {
  return page(
    Page.DeviceConfirm,
    'Confirm device',
    `<p><strong>${escapeHtml(client)}</strong> is asking to sign in. Check that your device shows <code>${escapeHtml(userCode)}</code>.</p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
  );
}

/** Shown once the device is signed in. */
export function deviceSuccessPage(client: string): string {
  return page(
    Page.DeviceSuccess,
    'Signed in',
    `<p>${escapeHtml(client)} is signed in. You can close this page.</p>`,
  );
}

/** The login form: `login` (user name or email) and `password`, posted to `/interaction/:uid/login`. */
export function loginPage(uid: string, opts: { login?: string; error?: string } = {}): string {
  return page(
    Page.Login,
    'Sign in',
    `${opts.error ? errorLine('login', opts.error) : ''}
<form id="login" method="post" action="/interaction/${escapeHtml(uid)}/login">
<input type="text" name="login" value="${escapeHtml(opts.login ?? '')}">
<input type="password" name="password" value="">
<button type="submit">Sign in</button>
</form>`,
  );
}

/** The consent form, posted to `/interaction/:uid/confirm` with `decision=approve` or `decision=deny`. */
export function consentPage(uid: string, user: string, client: string, scopes: string[]): string {
  return page(
    Page.Consent,
    'Authorize',
    `<p>${escapeHtml(user)}: allow <strong>${escapeHtml(client)}</strong> to access ${escapeHtml(scopes.join(' '))}?</p>
<form id="consent" method="post" action="/interaction/${escapeHtml(uid)}/confirm">
<button type="submit" name="decision" value="${Decision.Approve}">Approve</button>
<button type="submit" name="decision" value="${Decision.Deny}">Deny</button>
</form>`,
  );
}

/** An OAuth error (`error`, `error_description`) or a failure of the interaction routes. */
export function errorPage(error: string, description: string | undefined): string {
  return page(Page.Error, 'Error', errorLine(error, description ?? error));
}
