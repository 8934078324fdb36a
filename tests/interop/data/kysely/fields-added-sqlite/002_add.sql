alter table "user" add column "tier" text not null;

alter table "user" add column "plan" text default 'free' not null;

alter table "user" add column "nickname" text;

alter table "user" add column "credits" integer default 0;
