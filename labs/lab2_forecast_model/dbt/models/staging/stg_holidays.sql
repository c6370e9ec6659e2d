-- Holiday dates (optional input: an absent or header-only file leaves it empty).
with

source as (

    select * from {{ source('raw', 'holidays') }}

),

renamed as (

    select
        holiday_date,
        holiday
    from source

)

select * from renamed
