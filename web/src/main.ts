import {
  ApiError,
  call,
  forgetTokens,
  hasStoredSession,
  keepTokens,
  refreshSession,
  signedIn,
  uploadDirect,
  uploadThroughApi,
  type AdminUser,
  type Profile,
  type Session,
  type TokenPair,
} from './api';
import { field, formValues, h, showFieldErrors } from './dom';

// Multipart through API Gateway stops near 6 MB after base64: above this the browser uploads straight to storage.
const MULTIPART_LIMIT = 4 * 1024 * 1024;
const ACCEPTED_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif'];
const maxBytes = Number(document.body.dataset.maxBytes) || 5 * 1024 * 1024;

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const status = document.getElementById('status')!;

let me: Profile | undefined;

// ---- status line and errors ----------------------------------------------------------------

function say(message: string, kind: 'info' | 'error' = 'info') {
  status.textContent = message;
  status.className = `status ${kind}`;
}

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.missingRoute) return 'This server does not offer this yet.';
    if (error.status === 429 && error.retryAfter) return `${error.message} Try again in ${Math.ceil(error.retryAfter / 60)} min.`;
    return error.message;
  }
  return 'Something went wrong. Check your connection and try again.';
}

/** Runs a form's action with its button disabled; field errors go next to their inputs. */
function onSubmit(form: HTMLFormElement, action: (values: Record<string, string>) => Promise<void>) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll('button');
    buttons.forEach((button) => (button.disabled = true));
    showFieldErrors(form, {});
    try {
      await action(formValues(form));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && signedIn() === false) return go('#/signin');
      if (error instanceof ApiError && Object.keys(error.details).length) showFieldErrors(form, error.details);
      say(describe(error), 'error');
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  });
  return form;
}

const input = (name: string, type: string, attributes: Record<string, string | boolean | undefined> = {}) =>
  h('input', { name, type, ...attributes });

// ---- screens --------------------------------------------------------------------------------

function screen(title: string, ...content: (Node | string | null | false)[]) {
  document.title = `${title} · Portrait`;
  main.replaceChildren(h('h1', {}, title), ...content.filter((item): item is Node | string => Boolean(item)));
  main.focus();
}

function signInScreen() {
  let lastEmail = '';
  const resend = h('div', { class: 'inline-note', hidden: true });
  const form = onSubmit(
    h(
      'form',
      { novalidate: true, 'aria-label': 'Sign in' },
      field('Email', input('email', 'email', { autocomplete: 'username', required: true })),
      field('Password', input('password', 'password', { autocomplete: 'current-password', required: true })),
      h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    ),
    async (values) => {
      lastEmail = values.email ?? '';
      try {
        keepTokens(await call<TokenPair>('POST', '/auth/login', { json: { email: values.email, password: values.password } }));
      } catch (error) {
        if (error instanceof ApiError && error.code === 'email_not_verified') {
          resend.hidden = false;
          resend.replaceChildren('Your address is not confirmed yet. ', resendButton(() => lastEmail));
        }
        throw error;
      }
      me = await call<Profile>('GET', '/users/me', { auth: true });
      say(`Signed in as ${me.nickname}.`);
      go('#/profile');
    },
  );
  screen(
    'Sign in',
    form,
    resend,
    h('p', {}, h('a', { href: '#/forgot' }, 'Forgot your password?')),
    h('p', {}, 'New here? ', h('a', { href: '#/signup' }, 'Create an account')),
  );
}

function resendButton(email: () => string) {
  return h(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: async () => {
        try {
          const answer = await call<{ message: string }>('POST', '/auth/resend-verification', { json: { email: email() } });
          say(answer.message);
        } catch (error) {
          say(describe(error), 'error');
        }
      },
    },
    'Send the confirmation mail again',
  );
}

function signUpScreen() {
  const form = onSubmit(
    h(
      'form',
      { novalidate: true, 'aria-label': 'Create an account' },
      field('Email', input('email', 'email', { autocomplete: 'email', required: true })),
      field('Password', input('password', 'password', { autocomplete: 'new-password', required: true, minlength: '8' }), '8 to 128 characters, not your email.'),
      field('Nickname (optional)', input('nickname', 'text', { autocomplete: 'nickname' }), 'Letters, digits, "_", "." and "-"; we pick one if you leave it empty.'),
      field('First name (optional)', input('firstName', 'text', { autocomplete: 'given-name' })),
      field('Last name (optional)', input('lastName', 'text', { autocomplete: 'family-name' })),
      h('button', { type: 'submit', class: 'primary' }, 'Create account'),
    ),
    async (values) => {
      const body: Record<string, string> = { email: values.email ?? '', password: values.password ?? '' };
      for (const name of ['nickname', 'firstName', 'lastName']) if (values[name]?.trim()) body[name] = values[name]!;
      await call('POST', '/auth/register', { json: body });
      inboxScreen(body.email!);
    },
  );
  screen('Create an account', form, h('p', {}, 'Have an account? ', h('a', { href: '#/signin' }, 'Sign in')));
}

function inboxScreen(email: string) {
  say('');
  screen(
    'Check your inbox',
    h('p', {}, 'We sent a mail to ', h('strong', {}, email), '. Open its link and press "Confirm" to finish; then sign in here.'),
    h('p', {}, "Nothing after a few minutes? Look in the spam folder, or ", resendButton(() => email), '.'),
    h('p', {}, h('a', { href: '#/signin', class: 'button' }, 'Go to sign in')),
  );
}

function forgotScreen() {
  const form = onSubmit(
    h(
      'form',
      { novalidate: true, 'aria-label': 'Forgot password' },
      field('Email', input('email', 'email', { autocomplete: 'email', required: true })),
      h('button', { type: 'submit', class: 'primary' }, 'Send a reset link'),
    ),
    async (values) => {
      const answer = await call<{ message: string }>('POST', '/auth/forgot-password', { json: { email: values.email } });
      say(answer.message);
      screen('Check your inbox', h('p', {}, answer.message, ' The link opens a page where you choose a new password.'), h('p', {}, h('a', { href: '#/signin', class: 'button' }, 'Go to sign in')));
    },
  );
  screen('Forgot your password?', h('p', {}, 'We mail you a link to choose a new one.'), form);
}

function avatar(profile: Profile, size = 200) {
  return h('img', {
    class: 'avatar',
    src: profile.picture.variants[String(size)] ?? profile.picture.url,
    alt: profile.picture.default ? 'Default avatar' : `Picture of ${profile.nickname}`,
    width: size,
    height: size,
  });
}

function pictureSection(profile: Profile) {
  let chosen: File | undefined;
  let previewUrl: string | undefined;
  const current = h('div', { class: 'picture-current' }, avatar(profile));
  const preview = h('img', { class: 'avatar preview', alt: 'Preview of the chosen picture', width: 200, height: 200, hidden: true });
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const fileInput = input('file', 'file', { accept: ACCEPTED_TYPES.join(','), class: 'visually-hidden', id: 'picture-file' });
  const send = h('button', { type: 'button', class: 'primary', disabled: true }, 'Upload picture');
  const remove = h('button', { type: 'button', class: 'danger', disabled: profile.picture.default }, 'Remove picture');
  const note = h('p', { class: 'hint', id: 'drop-hint' }, `JPEG, PNG, GIF, WebP or AVIF, up to ${Math.round(maxBytes / 1024 / 1024)} MB.`);

  const choose = (file: File | undefined) => {
    if (!file) return;
    if (/^image\/hei[cf]/.test(file.type)) return say('HEIC photos cannot be used: choose a JPEG (on an iPhone, Settings → Camera → Formats → Most Compatible, or export the photo as JPEG).', 'error');
    if (!ACCEPTED_TYPES.includes(file.type)) return say('Choose a JPEG, PNG, GIF, WebP or AVIF image.', 'error');
    if (file.size > maxBytes) return say(`This file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.`, 'error');
    chosen = file;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
    send.disabled = false;
    say(`Preview of ${file.name}. Press "Upload picture" to use it.`);
  };

  const zone = h(
    'label',
    { class: 'drop-zone', for: 'picture-file', 'aria-describedby': 'drop-hint' },
    h('span', {}, 'Drop an image here, or '),
    h('span', { class: 'fake-link' }, 'choose a file'),
  );
  fileInput.addEventListener('change', () => choose(fileInput.files?.[0]));
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    choose(event.dataTransfer?.files?.[0]);
  });

  send.addEventListener('click', async () => {
    if (!chosen) return;
    send.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    say('Uploading…');
    try {
      const onProgress = (fraction: number) => (progress.value = fraction);
      const useDirect = chosen.size > MULTIPART_LIMIT;
      me = useDirect ? await uploadDirect(chosen, onProgress) : await uploadThroughApi(chosen, onProgress);
      progress.value = 1;
      say('Your picture is updated.');
      chosen = undefined;
      preview.hidden = true;
      current.replaceChildren(avatar(me));
      remove.disabled = false;
    } catch (error) {
      say(describe(error), 'error');
      send.disabled = false;
    } finally {
      progress.hidden = true;
    }
  });

  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      me = await call<Profile>('DELETE', '/users/me/picture', { auth: true });
      current.replaceChildren(avatar(me));
      say('Your picture is removed; the default avatar shows instead.');
    } catch (error) {
      say(describe(error), 'error');
      remove.disabled = false;
    }
  });

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'picture-heading' },
    h('h2', { id: 'picture-heading' }, 'Picture'),
    h('div', { class: 'picture-row' }, current, preview),
    fileInput,
    zone,
    note,
    progress,
    h('div', { class: 'actions' }, send, remove),
  );
}

function profileForm(profile: Profile) {
  const text = (name: keyof Profile, label: string, attributes: Record<string, string> = {}) =>
    field(label, input(name, 'text', { value: (profile[name] as string | null | undefined) ?? '', ...attributes }));
  const bio = h('textarea', { name: 'bio', rows: 4, maxlength: 500 });
  bio.value = profile.bio ?? '';
  // Link fields only when this server's profiles have them.
  const links = (['githubUrl', 'linkedinUrl', 'websiteUrl'] as const).filter((name) => name in profile);
  const form = onSubmit(
    h(
      'form',
      { novalidate: true, 'aria-label': 'Profile details' },
      text('nickname', 'Nickname', { autocomplete: 'nickname', required: 'true' }),
      text('firstName', 'First name', { autocomplete: 'given-name' }),
      text('lastName', 'Last name', { autocomplete: 'family-name' }),
      field('Bio', bio, 'Up to 500 characters.'),
      ...links.map((name) =>
        field({ githubUrl: 'GitHub profile', linkedinUrl: 'LinkedIn profile', websiteUrl: 'Website' }[name], input(name, 'url', { value: profile[name] ?? '', placeholder: 'https://…' })),
      ),
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
    ),
    async (values) => {
      const changes: Record<string, string> = {};
      for (const [name, value] of Object.entries(values)) {
        if (value !== ((me?.[name as keyof Profile] as string | null | undefined) ?? '')) changes[name] = value;
      }
      if (!Object.keys(changes).length) return say('Nothing to save.');
      me = await call<Profile>('PATCH', '/users/me', { auth: true, json: changes });
      say('Saved.');
    },
  );
  return h('section', { class: 'card', 'aria-labelledby': 'details-heading' }, h('h2', { id: 'details-heading' }, 'Details'), form);
}

async function profileScreen() {
  me = await call<Profile>('GET', '/users/me', { auth: true });
  screen(
    `Hello, ${me.firstName || me.nickname}`,
    h('p', { class: 'meta' }, `${me.email ?? ''} · ${me.role}`),
    pictureSection(me),
    profileForm(me),
  );
}

function sessionsSection() {
  const list = h('ul', { class: 'sessions' });
  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'sessions-heading' },
    h('h2', { id: 'sessions-heading' }, 'Where you are signed in'),
    list,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger', onclick: () => signOutEverywhere() }, 'Sign out everywhere')),
  );
  const load = async () => {
    try {
      const { sessions } = await call<{ sessions: Session[] }>('GET', '/users/me/sessions', { auth: true });
      list.replaceChildren(
        ...sessions.map((session) =>
          h(
            'li',
            {},
            h('span', { class: 'session-what' }, session.userAgent ? shortAgent(session.userAgent) : 'Unknown device', session.current ? h('strong', {}, ' (this tab)') : null),
            h('span', { class: 'meta' }, ` since ${new Date(session.createdAt).toLocaleString()}${session.ip ? ` from ${session.ip}` : ''}`),
            session.current
              ? null
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'small',
                    'aria-label': `Sign out the session since ${new Date(session.createdAt).toLocaleString()}`,
                    onclick: async () => {
                      try {
                        await call('DELETE', `/users/me/sessions/${encodeURIComponent(session.id)}`, { auth: true });
                        say('That session is signed out.');
                        await load();
                      } catch (error) {
                        say(describe(error), 'error');
                      }
                    },
                  },
                  'Sign out',
                ),
          ),
        ),
      );
    } catch (error) {
      list.replaceChildren(h('li', {}, describe(error)));
    }
  };
  void load();
  return section;
}

const shortAgent = (agent: string) => {
  const browser = /(Firefox|Edg|Chrome|Safari)\/[\d.]+/.exec(agent)?.[0]?.replace('Edg', 'Edge') ?? agent.slice(0, 40);
  const system = /(Windows|Mac OS X|Android|iPhone|Linux)/.exec(agent)?.[0] ?? '';
  return system ? `${browser} on ${system}` : browser;
};

async function signOutEverywhere() {
  try {
    await call('DELETE', '/users/me/sessions', { auth: true });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) return say(describe(error), 'error');
  }
  forgetTokens();
  me = undefined;
  say('Signed out everywhere.');
  go('#/signin');
}

function accountScreen() {
  const password = onSubmit(
    h(
      'form',
      { novalidate: true, 'aria-label': 'Change password' },
      field('Current password', input('currentPassword', 'password', { autocomplete: 'current-password', required: true })),
      field('New password', input('newPassword', 'password', { autocomplete: 'new-password', required: true, minlength: '8' }), '8 to 128 characters.'),
      h('button', { type: 'submit', class: 'primary' }, 'Change password'),
    ),
    async (values) => {
      keepTokens(await call<TokenPair>('POST', '/users/me/password', { auth: true, json: values }));
      say('Password changed. Every other session is signed out.');
      accountScreen();
    },
  );
  const email = onSubmit(
    h(
      'form',
      { novalidate: true, 'aria-label': 'Change email' },
      field('New email', input('newEmail', 'email', { autocomplete: 'email', required: true })),
      field('Password', input('password', 'password', { autocomplete: 'current-password', required: true })),
      h('button', { type: 'submit', class: 'primary' }, 'Change email'),
    ),
    async (values) => {
      const answer = await call<{ message: string }>('POST', '/users/me/email', { auth: true, json: values });
      say(answer.message || 'Check the new inbox: the change takes effect once you confirm it there.');
    },
  );
  const remove = onSubmit(
    h(
      'form',
      { novalidate: true, 'aria-label': 'Delete account' },
      h('p', {}, 'This deletes your account, your pictures and every session. It cannot be undone.'),
      field('Password', input('password', 'password', { autocomplete: 'current-password', required: true })),
      h('div', { class: 'check' }, input('confirm', 'checkbox', { id: 'confirm-delete', required: true }), h('label', { for: 'confirm-delete' }, 'Yes, delete my account')),
      h('button', { type: 'submit', class: 'danger' }, 'Delete account'),
    ),
    async (values) => {
      if (values.confirm !== 'on') return say('Tick "Yes, delete my account" first.', 'error');
      await call('DELETE', '/users/me', { auth: true, json: { password: values.password } });
      forgetTokens();
      me = undefined;
      say('Your account is deleted. Goodbye!');
      go('#/signup');
    },
  );
  screen(
    'Account',
    sessionsSection(),
    h('section', { class: 'card', 'aria-labelledby': 'password-heading' }, h('h2', { id: 'password-heading' }, 'Password'), password),
    h('section', { class: 'card', 'aria-labelledby': 'email-heading' }, h('h2', { id: 'email-heading' }, 'Email'), h('p', { class: 'meta' }, `Now: ${me?.email ?? ''}`), email),
    h('section', { class: 'card danger-zone', 'aria-labelledby': 'delete-heading' }, h('h2', { id: 'delete-heading' }, 'Delete account'), remove),
  );
}

function adminScreen() {
  const isAdmin = me?.role === 'admin';
  const rows = h('tbody', {});
  const more = h('button', { type: 'button', hidden: true }, 'Next page');
  const count = h('p', { class: 'meta', 'aria-live': 'polite' });
  let cursor: string | null = null;
  let query = new URLSearchParams();

  const search = onSubmit(
    h(
      'form',
      { class: 'search', role: 'search', 'aria-label': 'Search users' },
      field('Search', input('q', 'search', { placeholder: 'email, nickname or name' })),
      field('Role', h('select', { name: 'role' }, h('option', { value: '' }, 'any'), h('option', { value: 'user' }, 'user'), h('option', { value: 'manager' }, 'manager'), h('option', { value: 'admin' }, 'admin'))),
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
    ),
    async (values) => {
      query = new URLSearchParams(Object.entries(values).filter(([, value]) => value));
      rows.replaceChildren();
      cursor = null;
      await loadPage();
    },
  );

  const update = async (user: AdminUser, changes: Partial<Pick<AdminUser, 'role' | 'disabled'>>, row: HTMLElement) => {
    try {
      const updated = await call<AdminUser>('PATCH', `/admin/users/${user.id}`, { auth: true, json: changes });
      row.replaceWith(userRow(updated));
      say(`${updated.nickname} updated.`);
    } catch (error) {
      say(describe(error), 'error');
    }
  };

  const userRow = (user: AdminUser): HTMLElement => {
    const row = h('tr', {});
    const roleControl = h('select', { 'aria-label': `Role of ${user.nickname}`, disabled: !isAdmin || user.id === me?.id });
    for (const role of ['user', 'manager', 'admin']) roleControl.append(h('option', { value: role, selected: role === user.role }, role));
    roleControl.addEventListener('change', () => update(user, { role: roleControl.value as AdminUser['role'] }, row));
    const disable = h(
      'button',
      { type: 'button', class: user.disabled ? 'small' : 'small danger', disabled: user.id === me?.id, onclick: () => update(user, { disabled: !user.disabled }, row) },
      user.disabled ? 'Enable' : 'Disable',
    );
    disable.setAttribute('aria-label', `${user.disabled ? 'Enable' : 'Disable'} ${user.nickname}`);
    const unlock = user.lockedUntil
      ? h(
          'button',
          {
            type: 'button',
            class: 'small',
            'aria-label': `Unlock sign-in of ${user.nickname}`,
            onclick: async () => {
              try {
                await call('POST', `/admin/users/${user.id}/unlock`, { auth: true });
                row.replaceWith(userRow({ ...user, lockedUntil: null }));
                say(`${user.nickname} can sign in again.`);
              } catch (error) {
                say(describe(error), 'error');
              }
            },
          },
          'Unlock',
        )
      : null;
    row.append(
      h('td', {}, h('img', { class: 'avatar tiny', src: user.picture.variants['64'] ?? user.picture.url, alt: '', width: 32, height: 32 })),
      h('td', {}, h('span', { class: 'nick' }, user.nickname), h('br', {}), h('span', { class: 'meta' }, user.email)),
      h('td', {}, roleControl),
      h('td', {}, user.disabled ? 'disabled' : user.lockedUntil ? 'locked' : user.emailVerified ? 'active' : 'unconfirmed'),
      h('td', {}, h('div', { class: 'row-actions' }, disable, unlock)),
    );
    return row;
  };

  const loadPage = async () => {
    const params = new URLSearchParams(query);
    params.set('limit', '20');
    if (cursor) params.set('cursor', cursor);
    try {
      const page = await call<{ users: AdminUser[]; nextCursor: string | null }>('GET', `/admin/users?${params}`, { auth: true });
      rows.append(...page.users.map(userRow));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      count.textContent = `${rows.children.length} user(s) shown${cursor ? ', more on the next page' : ''}.`;
    } catch (error) {
      say(describe(error), 'error');
    }
  };
  more.addEventListener('click', () => void loadPage());

  screen(
    'Users',
    search,
    count,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('caption', { class: 'visually-hidden' }, 'Users, newest first'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Picture')), h('th', { scope: 'col' }, 'User'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        rows,
      ),
    ),
    more,
  );
  void loadPage();
}

// ---- navigation -----------------------------------------------------------------------------

async function signOut() {
  const refreshToken = sessionStorage.getItem('portrait.refreshToken');
  forgetTokens();
  me = undefined;
  if (refreshToken) await call('POST', '/auth/logout', { json: { refreshToken } }).catch(() => undefined);
  say('Signed out.');
  go('#/signin');
}

function renderNav() {
  const link = (href: string, label: string) => h('a', { href, 'aria-current': location.hash === href ? 'page' : undefined }, label);
  nav.replaceChildren(
    ...(signedIn()
      ? [
          link('#/profile', 'Profile'),
          link('#/account', 'Account'),
          me && me.role !== 'user' ? link('#/admin', 'Users') : '',
          h('button', { type: 'button', class: 'link', onclick: () => void signOut() }, 'Sign out'),
        ]
      : [link('#/signin', 'Sign in'), link('#/signup', 'Create account')]),
  );
}

function go(hash: string) {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

const protectedRoutes: Record<string, () => void | Promise<void>> = {
  '#/profile': profileScreen,
  '#/account': accountScreen,
  '#/admin': adminScreen,
};
const publicRoutes: Record<string, () => void> = { '#/signin': signInScreen, '#/signup': signUpScreen, '#/forgot': forgotScreen };

async function route() {
  const hash = location.hash || '#/';
  if (!signedIn() && hasStoredSession()) await refreshSession().catch(() => false);
  if (signedIn() && !me) me = await call<Profile>('GET', '/users/me', { auth: true }).catch(() => undefined);
  const view = protectedRoutes[hash];
  try {
    if (view) {
      if (!signedIn()) {
        say('Please sign in first.');
        return go('#/signin');
      }
      await view();
    } else if (publicRoutes[hash]) publicRoutes[hash]!();
    else return go(signedIn() ? '#/profile' : '#/signin');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forgetTokens();
      return go('#/signin');
    }
    say(describe(error), 'error');
  } finally {
    renderNav();
  }
}

window.addEventListener('hashchange', () => void route());
void route();
