// The shapes the API answers with (see /docs for the whole schema).

export interface Window {
  year_group: number | null;
  opens_at: string;
  closes_at: string;
}

export interface Term {
  id: number;
  code: string;
  name_ko: string;
  name_en: string;
  is_current: boolean;
  basket: Window;
  add_drop: Window;
  enrollment_windows: Window[];
}

export interface Meeting {
  day: number;
  day_name: string;
  start: string;
  end: string;
  room: string;
}

export interface Section {
  id: number;
  term_id: number;
  course_code: string;
  title_ko: string;
  title_en: string;
  credits: number;
  department_code: string;
  number: number;
  instructor_name: string;
  capacity: number;
  enrolled: number;
  seats_left: number;
  waitlist_length: number;
  status: string;
  meeting_times: Meeting[];
  prerequisite_codes: string[];
}

export interface SectionPage {
  items: Section[];
  page: number;
  page_size: number;
  total: number;
}

export interface Me {
  id: number;
  username: string;
  name: string;
  role: "student" | "professor" | "admin";
  year: number | null;
  max_credits: number | null;
}

export interface MyEnrollments {
  term_id: number;
  credits: number;
  max_credits: number;
  enrollments: Section[];
  waitlist: { section: Section; position: number }[];
}

export interface Ticket {
  ticket: string;
  term_id: number;
  position: number | null;
  ahead: number | null;
  eta_seconds: number | null;
  admitted: boolean;
  access_token: string | null;
  access_expires_at: string | null;
  poll_after_seconds: number | null;
}

export interface Room {
  term_id: number;
  rush_mode: boolean;
  accepting: boolean;
  paused: boolean;
  opens_at: string;
  mode: "rate" | "concurrency" | "adaptive";
  rate: number;
  max_active: number;
  waiting: number;
  admitted: number;
  active: number;
  eta_last_seconds: number | null;
}

export interface RosterEntry {
  student_number: string;
  name: string;
  year: number;
  department_code: string | null;
  position: number | null;
}

export interface EnrollOut {
  status: "enrolled" | "waitlisted";
  section_id: number;
  enrollment_id: number | null;
  position: number | null;
}
