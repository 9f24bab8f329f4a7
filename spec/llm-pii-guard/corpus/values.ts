/**
 * Values for the labelled corpus. Card numbers, IBANs and wallet addresses are published test/example values;
 * phone numbers are valid by libphonenumber's metadata; credentials are made up here from a seeded generator (no
 * real key appears in the repository, and push-protection scanners see no literal token).
 */
let seed = 0x2f6b3a1d;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;
function pick(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  // generated tokens always mix letters and digits, as real ones do
  return /\d/.test(s) ? s : `${s.slice(0, -1)}7`;
}
const upperDigits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function jwt(): string {
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: pick('0123456789', 10), name: 'Jane Roe', iat: 1716200000 })}.${pick(B64URL, 43)}`;
}

function pem(): string {
  const lines = Array.from({ length: 6 }, () => pick(B64, 64));
  return `-----BEGIN RSA PRIVATE KEY-----\n${lines.join('\n')}\n${pick(B64, 24)}==\n-----END RSA PRIVATE KEY-----`;
}

export const POOLS: Record<string, string[]> = {
  email: [
    'maria.garcia@telefonica.es',
    'j.smith+billing@acme-corp.co.uk',
    'jürgen.müller@firma-beispiel.de',
    'li.wei@shanghai-logistics.cn',
    'first_last@mail.sub.domain.io',
    'ops-team@startup.ai',
    'a.kowalski@poczta.pl',
    'support.desk@contoso-holdings.com',
    'yuki.tanaka@kaisha.co.jp',
    'r2d2@rebel-alliance.org.uk',
    'dev.null99@protonmail.ch',
    'francois.dupont@orange.fr',
  ],
  phone: [
    '+44 20 7946 0958', '020 7946 0018', '+49 30 901820', '030 12345678', '+33 1 42 68 53 00', '01 42 68 53 00',
    '+34 912 345 678', '+39 06 6988 1234', '+81 3-1234-5678', '+91 98765 43210', '+61 2 9374 4000', '+55 11 91234-5678',
    '+1-202-456-1111', '202.456.1111', '+31 20 624 1111', '+46 8 123 456 78', '+86 10 6552 9988', '+7 495 123-45-67',
    '+52 55 1234 5678', '(415) 555-2671', '+1 (646) 555-3890', '0151 23456789', '06 12 34 56 78', '+49 (0)89 1234567',
    '+41 44 668 18 00', '+48 22 123 45 67', '(312) 555-0198', '+353 1 234 5678', '+27 21 123 4567', '+65 6123 4567',
    '+82 2-312-3456', '+90 212 123 45 67', '+972 3-123-4567', '800-555-0199', '+1 617 253 1000', '617-253-1000',
  ],
  credit_card: [
    '4111 1111 1111 1111', '5555555555554444', '3782 822463 10005', '6011-1111-1111-1117', '3530111333300000',
    '4012 8888 8888 1881', '5105-1051-0510-5100', '371449635398431', '30569309025904', '6200000000000005', '2223003122003222',
    '4242424242424242',
  ],
  iban: [
    'DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432', 'FR14 2004 1010 0505 0001 3M02 606', 'NL91ABNA0417164300',
    'ES9121000418450200051332', 'IT60 X054 2811 1010 0000 0123 456', 'CH9300762011623852957', 'BE68 5390 0754 7034',
    'AT611904300234573201', 'PL61 1090 1014 0000 0712 1981 2874', 'NO9386011117947', 'DK5000400440116243',
  ],
  us_ssn: ['123-45-6789', '219-09-9999', '457-55-5462', '536-90-4399', '001-01-0001', '772-34-1234'],
  ip_address: [
    '8.8.8.8', '172.16.254.1', '10.0.0.12', '192.168.1.104', '2a00:1450:4001:81b::200e', '2001:4860:4860::8888',
    'fe80::1ff:fe23:4567:890a', '52.94.236.248', '34.117.59.81', '100.64.12.7',
  ],
  crypto_wallet: [
    '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq',
    'bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297', '0x52908400098527886E0F7030069857D2E4169EE7',
    '0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae',
  ],
};

/** Generated credentials by kind (a function: each use is a new value). */
export const SECRET_MAKERS: Record<string, () => string> = {
  aws_access_key_id: () => `AKIA${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`,
  aws_secret_access_key: () => `${pick(ALNUM, 18)}/${pick(ALNUM, 12)}+${pick(ALNUM, 8)}`,
  openai: () => `sk-proj-${pick(`${ALNUM}_-`, 74)}T3BlbkFJ${pick(ALNUM, 20)}`,
  openai_legacy: () => `sk-${pick(ALNUM, 48)}`,
  anthropic: () => `sk-ant-api03-${pick(`${ALNUM}_-`, 93)}AA`,
  google: () => `AIza${pick(`${ALNUM}_-`, 35)}`,
  github: () => `ghp_${pick(ALNUM, 36)}`,
  github_pat: () => `github_pat_11${pick(upperDigits, 20)}_${pick(ALNUM, 59)}`,
  gitlab: () => `glpat-${pick(`${ALNUM}_-`, 20)}`,
  slack: () => `xoxb-${pick('0123456789', 12)}-${pick('0123456789', 13)}-${pick(ALNUM, 24)}`,
  jwt,
  pem,
  password: () => `${pick(ALNUM, 6)}!${pick('0123456789', 3)}`,
  entropy: () => pick(ALNUM, 32),
  bearer: () => pick(B64URL, 40),
};
